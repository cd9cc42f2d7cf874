import { processSettings, type Settings } from '../host/settings.js';
import { createServices, type Services } from '../service/index.js';

let loaded: Settings | undefined;
let made: Services | undefined;

/** This run's settings: the one place the CLI (and serve, worker) reads the environment, once. */
export const settings = (): Settings => (loaded ??= processSettings());

/** The services for this run (one state root: $VMLAB_HOME or ~/.vmlab). */
export const services = (): Services => (made ??= createServices(settings()));
