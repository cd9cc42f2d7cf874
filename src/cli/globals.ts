/** Options given before the command (-v, --lab), set once by main. */
export const globals: { verbose: boolean; lab: string | undefined } = { verbose: false, lab: undefined };
