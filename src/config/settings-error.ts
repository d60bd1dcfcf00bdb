/** An invalid environment (its own module so that the CLI can catch it without loading zod). */
export class SettingsError extends Error {}
