// The `centralog` command.
export { buildProgram, main } from './main.ts';
export type { DemoSummary } from './demo.ts';
