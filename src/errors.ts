// Error classes that carry an exit code. A UserError's message is printed as one line and
// the process exits with its code; anything else is an internal error (see cli/main.ts).

export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags or flag values: exit 2. */
export class UsageError extends UserError {
  override readonly exitCode: number = 2;
}

/** A verification threshold the user set was not met: exit 3. */
export class ThresholdError extends UserError {
  override readonly exitCode: number = 3;
}

/** `tbn compress` found no layer to tile (nothing is written): exit 4. */
export class NothingTiledError extends UserError {
  override readonly exitCode: number = 4;
}

/** The bytes are not a valid ONNX message (the reader adds the file name). */
export class OnnxFormatError extends UserError {}

/** Throws the UserError for bad input found in `where` (a file, a node, a tensor), naming it. */
export function failIn(where: string, message: string): never {
  throw new UserError(`${where}: ${message}`);
}

/** Prefix a user error with the file it concerns, once. */
export function inFile(file: string, err: unknown): unknown {
  if (err instanceof UserError && !err.message.startsWith(file)) {
    const wrapped = new (err.constructor as new (m: string) => UserError)(`${file}: ${err.message}`);
    return wrapped;
  }
  return err;
}

/** Runs fn; a UserError it throws names the file it concerns (once), keeping its exit code. */
export async function withFile<T>(file: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw inFile(file, e);
  }
}

/** Exit code for internal errors (a bug in tbn, not in the input): EX_SOFTWARE. */
export const INTERNAL_ERROR_EXIT = 70;
