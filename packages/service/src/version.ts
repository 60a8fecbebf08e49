/** Version of @multichexnet/service (kept in step with package.json by the release script). */
export const SERVICE_VERSION = '0.1.0';
