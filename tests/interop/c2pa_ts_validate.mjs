// Validate an MP4's C2PA manifest with @trustnxt/c2pa-ts, an implementation independent of c2pa-rs/c2pa-python.
//
//   node c2pa_ts_validate.mjs ASSET.mp4 [STORE.c2pa]
//
// With STORE, that manifest store (e.g. one served by a soft-binding lookup) is judged against ASSET's bytes instead
// of the store ASSET embeds. Prints one JSON line: {"isValid": bool, "success": [codes], "failure": [codes]}.
//
// c2pa-ts 0.9 reads ISO BMFF files only when their brand is a HEIF one ('heic', 'mif1'): its reader and its
// BMFF hash are generic ISO BMFF, but the brand list stops at the formats it was tested on. MP4 brands are added to
// that list here at run time (a static Set, private only to TypeScript), so `npm ci` needs no patch step; if a later
// release renames or drops the list, this script stops with an error instead of skipping the check.
import * as fs from 'node:fs/promises';
import { BMFF } from '@trustnxt/c2pa-ts/asset';
import { SuperBox } from '@trustnxt/c2pa-ts/jumbf';
import { ManifestStore, ValidationResult } from '@trustnxt/c2pa-ts/manifest';

const MP4_BRANDS = ['isom', 'mp41', 'mp42'];

if (!(BMFF.canReadBrands instanceof Set)) {
    throw new Error('@trustnxt/c2pa-ts has no BMFF.canReadBrands set any more: update the MP4 brand patch');
}
for (const brand of MP4_BRANDS) BMFF.canReadBrands.add(brand);

const [assetPath, storePath] = process.argv.slice(2);
if (!assetPath) {
    console.error('usage: node c2pa_ts_validate.mjs ASSET.mp4 [STORE.c2pa]');
    process.exit(2);
}
const asset = new BMFF(new Uint8Array(await fs.readFile(assetPath)));
const jumbf = storePath ? new Uint8Array(await fs.readFile(storePath)) : asset.getManifestJUMBF();

let result;
if (!jumbf) {
    result = ValidationResult.fromError(new Error('no C2PA manifest store in the asset'));
} else {
    try {
        result = await ManifestStore.read(SuperBox.fromBuffer(jumbf)).validate(asset);
    } catch (error) {
        result = ValidationResult.fromError(error);
    }
}
const codes = (success) => result.statusEntries.filter((entry) => entry.success === success).map((entry) => entry.code);
console.log(JSON.stringify({ isValid: result.isValid, success: codes(true), failure: codes(false) }));
