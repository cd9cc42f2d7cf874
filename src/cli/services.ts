import { createServices, type Services } from '../service/index.js';

let made: Services | undefined;

/** The services for this run (one state root: $VMLAB_HOME or ~/.vmlab). */
export const services = (): Services => (made ??= createServices(process.env));
