export * from './specError.js';
export * from './jsonFile.js';
export * from './names.js';
export * from './schema.js';
export * from './loadSpec.js';
export * from './zodIssue.js';
