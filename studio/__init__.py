"""The creator app: portraits, renders, the dashboard and share links."""
