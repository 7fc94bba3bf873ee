// `node --import` this file to install tfjs-esm-hooks.mjs (see there).
import { register } from 'node:module';

register('./tfjs-esm-hooks.mjs', import.meta.url);
