/** The key types an OpenSSH public host key line may start with. */
export const SSH_HOST_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
] as const;

export type OpenSshKey = { type: string; blob: Buffer } | { problem: string };

/**
 * Reads an OpenSSH public key line ("ssh-ed25519 AAAA… comment"; blank and # lines skipped) down to its key blob,
 * or says why it is not one: a pasted placeholder or a truncated key is caught here, not at connection time.
 */
export function readOpenSshPublicKey(text: string): OpenSshKey {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  const [type, base64] = line?.split(/\s+/) ?? [];
  if (!type || !(SSH_HOST_KEY_TYPES as readonly string[]).includes(type) || !base64)
    return { problem: 'expected "<type> <base64 key>"' };
  const notAKey = { problem: `the base64 data is not a ${type} key` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return notAKey;
  const blob = Buffer.from(base64, 'base64');
  // The blob is a sequence of SSH strings (uint32 length + bytes), the first being the key type.
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    const length = at + 4 <= blob.length ? blob.readUInt32BE(at) : -1;
    if (length < 0 || at + 4 + length > blob.length) return notAKey;
    fields.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const wellFormed =
    fields[0]?.toString('latin1') === type &&
    (type === 'ssh-ed25519' ? fields.length === 2 && fields[1]!.length === 32 : fields.length >= 3);
  return wellFormed ? { type, blob } : notAKey;
}
