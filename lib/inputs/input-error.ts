/** Where in the input a problem is: the file, and where known the column and the 1-based data row. */
export interface InputLocation {
  readonly file: string;
  readonly column?: string;
  readonly row?: number;
}

/**
 * Bad input: the message names the file, column and row, so the person who uploaded it at 2 a.m.
 * can fix it without reading code. Runs that raise it publish nothing.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly location: InputLocation;

  constructor(problem: string, location: InputLocation) {
    const parts = [location.file];
    if (location.column !== undefined) parts.push(`column "${location.column}"`);
    if (location.row !== undefined) parts.push(`row ${location.row}`);
    super(`${parts.join(', ')}: ${problem}`);
    this.location = location;
  }
}
