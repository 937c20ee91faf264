/** The last lines each service of a mesh wrote (the mesh's onLine feeds it), for a test's diagnostics. */
export class RecentLines {
  readonly #lines = new Map<string, string[]>();

  constructor(private readonly perService = 200) {}

  readonly record = (service: string, line: string): void => {
    const lines = this.#lines.get(service) ?? [];
    lines.push(line);
    if (lines.length > this.perService) lines.shift();
    this.#lines.set(service, lines);
  };

  of(service: string): string[] {
    return [...(this.#lines.get(service) ?? [])];
  }
}
