/** The one error configuration loading throws: every problem, each with its path, in plain words. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Each problem as `path: what is wrong`. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
