export const DEMO_VERSION = '0.1.0';
