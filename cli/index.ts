// The `centralog` command.
export { buildProgram, main } from './main.ts';
export { DEMO_DEFAULTS, DemoFailedError, DemoOptionsSchema, runDemo, type DemoIO, type DemoOptions, type DemoSummary } from './demo.ts';
export { archivedEventKeys, indexedEventIdCounts, readDeadLetters } from './verify.ts';
