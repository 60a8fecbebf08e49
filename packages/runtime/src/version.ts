/** Version of @multichexnet/runtime (kept in step with package.json by the release script). */
export const RUNTIME_VERSION = '0.1.0';
