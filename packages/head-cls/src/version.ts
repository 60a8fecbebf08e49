/** Package version (kept in step with package.json by the release tooling). */
export const version = '0.1.0';
