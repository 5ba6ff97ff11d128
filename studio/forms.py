"""Forms of the creator pages: sign-up, portrait upload, consent request, new video and localization."""

from __future__ import annotations

import functools
import math
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils import timezone

from consent.models import PURPOSES, Consent, Purpose
from consent.selectors import consent_active_get
from core.languages import ANY_LANGUAGE
from inference.framing import BACKGROUND_BLUR, LONG_SIDE_MAX
from inference.speech import DEFAULT_WORDS_PER_MINUTE, MAX_TEXT_CHARS

from .models import ASPECT_RATIO_CHOICES, LABEL_CORNER_CHOICES, TITLE_MAX_CHARS
from .validators import SUBJECT_NAME_MAX_CHARS, subject_name_validate
from .voices import spoken_language_name, voices_of_language

LOCALIZATION_ROWS = 4
CONSENT_DEFAULT_DAYS = 365
TRANSCRIPT_HELP = (
    "Paste what is said to get captions. Their timing is approximate: the words are spread over the "
    "detected speech in proportion to their length, not recognized in the recording. Needed when the consent is "
    "limited to languages: its language is checked, and its length against the recording's speech."
)


@functools.cache
def language_choices() -> tuple[tuple[str, str], ...]:
    """(code, "German (de)") for every language the speech synthesizer speaks, sorted by name."""
    from inference import speech

    named = [(code, f"{spoken_language_name(code)} ({code})") for code in speech.languages()]
    return tuple(sorted(named, key=lambda choice: choice[1].lower()))


def spoken_seconds(text: str) -> int:
    """About how many seconds a text takes to say at the synthesizer's default rate (words over words per minute,
    rounded up); candor.js counts the same way."""
    return math.ceil(len(text.split()) * 60 / DEFAULT_WORDS_PER_MINUTE)


def voice_choices(language: str) -> list[tuple[str, str]]:
    """A language's voices as (value, name): "" (its default voice) first, then each voice by name ("en-us+f3" as
    "English (America), female 3")."""
    default, *others = voices_of_language(language)
    return [("", f"Default voice: {default.name}"), *((voice.id, voice.name) for voice in others)]


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="Used only for password resets.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


# The MIME type and name of each image format the server decodes (inference.media.IMAGE_FORMATS is the check).
_IMAGE_FORMAT_TYPES = {"JPEG": ("image/jpeg", "JPEG"), "PNG": ("image/png", "PNG"), "WEBP": ("image/webp", "WebP")}


def portrait_upload_rules() -> dict:
    """What the upload accepts, from the server's own check and limit: shown in the hint and checked by the browser."""
    from inference.media import IMAGE_FORMATS

    accepted = [_IMAGE_FORMAT_TYPES[name] for name in sorted(IMAGE_FORMATS)]
    names = [name for _, name in accepted]
    max_bytes = settings.CANDOR_MAX_IMAGE_BYTES
    return {
        "accept": ",".join(mime for mime, _ in accepted),
        "type_names": ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0],
        "max_bytes": max_bytes,
        "max_mb": f"{max_bytes / 1e6:.0f} MB",
    }


class PortraitUploadForm(forms.Form):
    image = forms.FileField(label="Portrait photo")
    subject_name = forms.CharField(
        label="Name of the person pictured",
        max_length=SUBJECT_NAME_MAX_CHARS,
        validators=[subject_name_validate],
        help_text="As it should appear in the consent request: one line, no links.",
    )
    subject_email = forms.EmailField(
        label="Their email", help_text="They receive the consent request here; nothing is made until they approve."
    )
    # Which face to animate when the photo shows several (0 = the leftmost); the page offers the faces found.
    face = forms.IntegerField(required=False, min_value=0, max_value=50, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = portrait_upload_rules()
        self.fields["image"].help_text = (
            f"A {rules['type_names']} photo of at most {rules['max_mb']}, showing one face looking at the camera "
            "(with several faces you pick one)."
        )


class ConsentRequestForm(forms.Form):
    """Every field is optional: an empty form asks for all purposes, any language, one year."""

    purposes = forms.MultipleChoiceField(
        choices=[(p, p.capitalize()) for p in PURPOSES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked asks for all purposes.",
    )
    languages = forms.MultipleChoiceField(
        required=False,
        label="Languages",
        widget=forms.CheckboxSelectMultiple(attrs={"data-filterable": ""}),
        help_text="None ticked asks for any language.",
    )
    valid_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Valid for (days)", initial=CONSENT_DEFAULT_DAYS
    )
    max_renders = forms.IntegerField(
        required=False, min_value=1, label="At most this many videos", help_text="Empty: no limit."
    )
    requester_name = forms.CharField(
        required=False,
        max_length=200,
        label="Your name, as they will see it",
        help_text="Empty: your account's first and last name, else your username.",
    )
    organisation = forms.CharField(required=False, max_length=200, label="Your organisation (optional)")
    message = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="A message to them (optional)",
        help_text="Shown first on their consent page: who you are and why you ask.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["languages"].choices = language_choices()

    @classmethod
    def asking_again(cls, consent) -> ConsentRequestForm:
        """The form filled with what a previous request asked for, to send it again as it was (or change it)."""
        # Rounded: the expiry was set a moment before the record's creation time.
        asked_days = round((consent.requested_expires_at - consent.created_at).total_seconds() / 86400)
        return cls(
            initial={
                "purposes": [] if set(consent.requested_purposes) == set(PURPOSES) else consent.requested_purposes,
                "languages": [] if consent.requested_languages == [ANY_LANGUAGE] else consent.requested_languages,
                "valid_days": max(1, asked_days),
                "max_renders": consent.requested_max_renders,
            }
        )

    def scope(self) -> dict:
        """Keyword arguments for consent_request_create."""
        data = self.cleaned_data
        return {
            "purposes": data["purposes"] or None,
            "languages": data["languages"] or None,
            "expires_at": timezone.now() + timedelta(days=data["valid_days"] or CONSENT_DEFAULT_DAYS),
            "max_renders": data["max_renders"],
            "requester_name": data["requester_name"],
            "organisation": data["organisation"],
            "message": data["message"],
        }


class ScopedSelect(forms.Select):
    """A select whose options outside the consent's scope are rendered hidden and disabled: offered to no one, and
    shown again by candor.js when another portrait (with a wider consent) is chosen."""

    allowed: set[str] | None = None  # None: every option

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if self.allowed is not None and str(value) and str(value) not in self.allowed:
            option["attrs"].update({"hidden": True, "disabled": True})
        return option


def consent_scopes(portraits) -> dict[str, dict[str, list[str]]]:
    """{portrait id: {"purposes": [...], "languages": [...]}} of each portrait's active consent ("any" language
    included as such), for the forms and candor.js."""
    scopes = {}
    for portrait in portraits:
        consent = consent_active_get(portrait=portrait)
        if consent is not None:
            scopes[str(portrait.id)] = {"purposes": list(consent.purposes), "languages": list(consent.languages)}
    return scopes


class _VideoBaseForm(forms.Form):
    portrait = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        label="Portrait",
        help_text="Only portraits whose person pictured has given active consent.",
        error_messages={
            "invalid_choice": "The person pictured has no active consent for this portrait (it may have been revoked "
            "or have expired); choose another portrait."
        },
    )
    purpose = forms.ChoiceField(choices=Purpose.choices, widget=ScopedSelect(attrs={"data-scope": "purposes"}))
    expression = forms.ChoiceField(
        required=False,
        initial="neutral",
        help_text="Held through the whole video: friendly is a slight smile; serious turns the mouth corners down and "
        "draws the brows together.",
    )
    label = forms.BooleanField(
        required=False,
        initial=True,
        label='Show the visible "AI-generated" label',
        help_text="Turning it off needs the permission of the person pictured. The invisible watermark and the signed "
        "manifest are always added.",
    )
    label_corner = forms.ChoiceField(
        choices=LABEL_CORNER_CHOICES,
        required=False,
        label="Label corner",
        help_text="A top corner stays clear of the player's controls.",
    )

    def __init__(self, *args, portraits, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["portrait"].queryset = portraits
        self.fields["label_corner"].initial = settings.CANDOR_LABEL_CORNER
        # The engine's list, read here: importing the animation module costs seconds at start-up.
        from inference import EXPRESSIONS

        self.fields["expression"].choices = [(name, name.capitalize()) for name in EXPRESSIONS]
        self.fields["portrait"].label_from_instance = lambda portrait: portrait.subject_name
        if not portraits.filter(consents__status=Consent.Status.ACTIVE, consents__allow_label_removal=True).exists():
            # No person pictured allowed videos without the label: the choice is not offered (always labelled).
            self.fields["label"].widget = forms.HiddenInput()
            self.fields["label"].disabled = True
        self.scopes = consent_scopes(portraits)
        chosen = str(self.data.get("portrait") or self.initial.get("portrait") or "")
        # The scope offered is the chosen portrait's, or the first one's (the select shows that one first).
        self.scope = self.scopes.get(chosen) or next(iter(self.scopes.values()), None)
        self.fields["purpose"].widget.allowed = None if self.scope is None else set(self.scope["purposes"])

    def allowed_languages(self) -> set[str] | None:
        """The languages the chosen portrait's consent covers; None for any."""
        if self.scope is None or self.scope["languages"] == [ANY_LANGUAGE]:
            return None
        return set(self.scope["languages"])

    def clean_expression(self) -> str:
        return self.cleaned_data.get("expression") or "neutral"


RESOLUTION_CHOICES = [("", "As animated (up to 512 px)"), ("480", "480 px"), ("720", "720 px"), ("1080", "1080 px")]
DEFAULT_BACKGROUND_COLOUR = "#1f2937"


class OutputChoicesMixin(forms.Form):
    """The output's shape: aspect ratio, resolution (long side) and what fills the canvas around the portrait."""

    aspect_ratio = forms.ChoiceField(
        choices=ASPECT_RATIO_CHOICES,
        required=False,
        initial="original",
        label="Aspect ratio",
        help_text="16:9 for players and slides, 9:16 for phone stories, 1:1 for feeds; the portrait is never cropped.",
    )
    long_side = forms.TypedChoiceField(
        choices=RESOLUTION_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label="Resolution",
        help_text=f"Pixels on the long side, at most {LONG_SIDE_MAX}.",
    )
    background_fill = forms.ChoiceField(
        choices=[(BACKGROUND_BLUR, "The photo, blurred"), ("colour", "A colour")],
        required=False,
        initial=BACKGROUND_BLUR,
        widget=forms.RadioSelect,
        label="Background around the portrait",
    )
    background_colour = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        required=False,
        initial=DEFAULT_BACKGROUND_COLOUR,
        label="Background colour",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": "Give the colour as #rrggbb."},
    )

    def output_choices(self) -> dict:
        """Keyword arguments for render_enqueue."""
        data = self.cleaned_data
        colour = data.get("background_colour") or DEFAULT_BACKGROUND_COLOUR
        return {
            "aspect_ratio": data.get("aspect_ratio") or "original",
            "long_side": data.get("long_side"),
            "background": colour if data.get("background_fill") == "colour" else BACKGROUND_BLUR,
        }


class RenderTitleForm(forms.Form):
    title = forms.CharField(
        max_length=TITLE_MAX_CHARS,
        required=False,
        label="Title",
        help_text="Shown in your library; empty goes back to the start of the script.",
    )


class RenderForm(OutputChoicesMixin, _VideoBaseForm):
    SOURCES = [("text", "Type text"), ("audio", "Upload audio")]

    source = forms.ChoiceField(choices=SOURCES, initial="text", widget=forms.RadioSelect, label="Speech")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_TEXT_CHARS)
    language = forms.ChoiceField(
        required=False, initial="en", widget=ScopedSelect(attrs={"data-scope": "languages", "data-filterable": ""})
    )
    voice = forms.ChoiceField(
        required=False, help_text="The voices the speech synthesizer offers for the chosen language."
    )
    audio = forms.FileField(
        required=False, label="Audio file", widget=forms.ClearableFileInput(attrs={"accept": "audio/*"})
    )
    transcript = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Transcript (optional)",
        help_text=TRANSCRIPT_HELP,
    )

    field_order = [
        "portrait",
        "purpose",
        "source",
        "text",
        "language",
        "voice",
        "audio",
        "transcript",
        "expression",
        "label",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = language_choices()
        self.fields["language"].widget.allowed = self.allowed_languages()
        language = self.data.get("language") or self.initial.get("language") or self._first_language()
        self.voice_language = language if language in dict(language_choices()) else "en"
        self.fields["language"].initial = self.voice_language
        self.fields["voice"].choices = voice_choices(self.voice_language)

    def clean(self):
        data = super().clean()
        if data.get("source") == "audio":
            if not data.get("audio"):
                self.add_error("audio", "Choose an audio file, or switch to typed text.")
            data["text"], data["voice"] = "", ""  # the language stays: it is the recording's, and consent covers it
            data["transcript"] = (data.get("transcript") or "").strip()
        elif data.get("source") == "text":
            if not (data.get("text") or "").strip():
                self.add_error("text", "Type what the portrait should say, or switch to an audio file.")
            if not data.get("language"):
                self.add_error("language", "Choose the language of the text.")
            data["audio"], data["transcript"] = None, ""
        return data

    text_max_chars = MAX_TEXT_CHARS
    words_per_minute = DEFAULT_WORDS_PER_MINUTE

    def text_stats(self) -> dict:
        """The script's length in characters and about how long it takes to say, as candor.js counts it live."""
        text = str(self["text"].value() or "")
        return {"characters": len(text), "seconds": spoken_seconds(text)}

    def _first_language(self) -> str:
        """English when the consent allows it, else the first language it covers by name."""
        allowed = self.allowed_languages()
        if allowed is None or "en" in allowed:
            return "en"
        return next(code for code, _ in language_choices() if code in allowed)

    def voice_options(self) -> list[dict]:
        """The voice select's options with each voice's gender and sample address, for the filters and play button."""
        offered = voices_of_language(self.voice_language)
        current = self["voice"].value() or ""
        return [
            {"value": value, "label": label, "gender": voice.gender, "voice": voice.id, "selected": value == current}
            for (value, label), voice in zip(self.fields["voice"].choices, offered, strict=True)
        ]


class LocalizationRowForm(forms.Form):
    language = forms.ChoiceField(required=False, widget=ScopedSelect(attrs={"data-scope": "languages"}))
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    voice = forms.ChoiceField(required=False)
    audio = forms.FileField(
        required=False, label="or audio", widget=forms.ClearableFileInput(attrs={"accept": "audio/*"})
    )
    transcript = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Transcript of the recording (optional)",
        help_text=TRANSCRIPT_HELP,
    )

    def __init__(self, *args, allowed_languages: set[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", "—")] + list(language_choices())
        self.fields["language"].widget.allowed = allowed_languages
        language = self.data.get(self.add_prefix("language")) or "en"
        self.fields["voice"].choices = voice_choices(language if language in dict(language_choices()) else "en")

    def clean(self):
        data = super().clean()
        spoken = bool((data.get("text") or "").strip()) + bool(data.get("audio"))
        if data.get("language") and spoken != 1:
            raise forms.ValidationError("Give this language either a text or an audio file.")
        if not data.get("language") and spoken:
            raise forms.ValidationError("Choose the language of this text or audio.")
        if (data.get("transcript") or "").strip() and not data.get("audio"):
            raise forms.ValidationError("A transcript goes with an audio file; typed text gets its captions by itself.")
        if data.get("audio"):
            data["voice"] = ""  # a recording has its own voice
        return data


class BaseLocalizationRowFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        languages = [row.cleaned_data["language"] for row in self.forms if row.cleaned_data.get("language")]
        if not languages:
            raise forms.ValidationError("Give a text or an audio file for at least one language.")
        if len(set(languages)) != len(languages):
            raise forms.ValidationError("Each language can appear once.")

    def versions(self) -> list[dict]:
        """{"language", "text", "audio", "transcript"} of each filled row, for renders_localize."""
        return [
            {key: row.cleaned_data[key] for key in ("language", "text", "voice", "audio", "transcript")}
            for row in self.forms
            if row.cleaned_data.get("language")
        ]


LocalizationRowFormSet = forms.formset_factory(
    LocalizationRowForm, formset=BaseLocalizationRowFormSet, extra=LOCALIZATION_ROWS, max_num=LOCALIZATION_ROWS
)


class LocalizeForm(OutputChoicesMixin, _VideoBaseForm):
    """Portrait, purpose, label and output choices, shared by every language version."""
