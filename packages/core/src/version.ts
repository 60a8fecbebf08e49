/** Version of @multichexnet/core (kept in step with package.json by the release script). */
export const CORE_VERSION = '0.1.0';
