/** Nominal typing for ids and hashes, so a path is never passed where a hash is expected. */
export type Brand<T, B extends string> = T & { readonly __brand: B };

/** An expanded stage name, e.g. `train@0-logreg`. */
export type StageName = Brand<string, 'StageName'>;
/** A content hash of a file or directory manifest: 16 hex chars (xxh64), `.dir` suffix for directories. */
export type ContentHash = Brand<string, 'ContentHash'>;
/** The hash of a stage's canonical fingerprint record (cmd, deps, params, outs). */
export type FpHash = Brand<string, 'FpHash'>;

export const stageName = (s: string): StageName => s as StageName;
export const contentHash = (s: string): ContentHash => s as ContentHash;
export const fpHash = (s: string): FpHash => s as FpHash;
