import { isIP } from 'node:net';

/**
 * Whether a host name or address is this machine's loopback: `localhost`, 127.0.0.0/8, `::1` (also written out
 * or IPv4-mapped). Everything else, `0.0.0.0` and `::` included, can be reached from the network.
 *
 * @example
 * isLoopbackHost('127.0.0.2'); // true
 * isLoopbackHost('0.0.0.0');   // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  if (/^::ffff:127\.\d+\.\d+\.\d+$/.test(h)) return true;
  // Expand "::" so every spelling of ::1 compares equal.
  const [head = '', tail = ''] = h.split('::');
  const a = head === '' ? [] : head.split(':');
  const b = tail === '' ? [] : tail.split(':');
  const groups = h.includes('::') ? [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b] : a;
  return (
    groups.length === 8 &&
    groups.slice(0, 7).every((g) => Number.parseInt(g, 16) === 0) &&
    Number.parseInt(groups[7]!, 16) === 1
  );
}
