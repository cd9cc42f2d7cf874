// Kept for images/openLibrary until its session adopts Settings; the parser lives in settings.ts.
export { envWholeNumber } from './settings.js';
