/** Version of @multichexnet/experiments (kept in step with package.json by the release script). */
export const version = '0.1.0';
