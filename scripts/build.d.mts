// Types for the parts of build.mjs that tests use.
import type { BuildOptions, Metafile } from 'esbuild';

export interface ForbiddenInput {
  /** An input file or an external import specifier. */
  path: string;
  reason: string;
  /** The imports that reach it, entry first. */
  chain: string;
}

export function forbiddenInputs(metafile: Metafile, extraPackages?: string[]): ForbiddenInput[];

export function buildAll(names?: string[]): Promise<Array<{ name: string; outfile: string; bytes: number }>>;

/** Where each bundle is written, relative to the repository root. */
export const OUTPUTS: { lambda: string; cli: string };

/** A target's esbuild options (metafile on, nothing written). */
export function esbuildOptions(name: 'lambda' | 'cli'): BuildOptions & { metafile: true; write: false };
