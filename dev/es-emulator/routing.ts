/**
 * Document routing to shards, as Elasticsearch does it (IndexRouting.Unpartitioned): the shard of a document is
 * `floorMod(murmur3(_routing), routingNumShards) / routingFactor`, where `_routing` defaults to `_id` and
 * `routingFactor = routingNumShards / number_of_shards`. A real cluster and the emulator put the same document on
 * the same shard number.
 */

/** Lucene's StringHelper.murmurhash3_x86_32 (seed 0), as a signed 32-bit integer like Java's int. */
export function murmurhash3x86_32(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h1 = seed | 0;
  const roundedEnd = bytes.length & ~3;
  for (let i = 0; i < roundedEnd; i += 4) {
    let k1 =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  }
  let k1 = 0;
  switch (bytes.length & 3) {
    case 3:
      k1 = ((bytes[roundedEnd + 2] as number) & 0xff) << 16;
    // falls through
    case 2:
      k1 |= ((bytes[roundedEnd + 1] as number) & 0xff) << 8;
    // falls through
    case 1:
      k1 |= (bytes[roundedEnd] as number) & 0xff;
      k1 = Math.imul(k1, c1);
      k1 = (k1 << 15) | (k1 >>> 17);
      k1 = Math.imul(k1, c2);
      h1 ^= k1;
  }
  h1 ^= bytes.length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 | 0;
}

/** Murmur3HashFunction.hash(String): each UTF-16 code unit as two little-endian bytes. */
export function routingHash(routing: string): number {
  return murmurhash3x86_32(Buffer.from(routing, 'utf16le'));
}

/**
 * MetadataCreateIndexService.calculateNumRoutingShards for indices created on 7.0 or later: the largest
 * `numShards * 2^x` not above 1024, with at least one split.
 */
export function defaultRoutingNumShards(numShards: number): number {
  const log2NumShards = numShards <= 1 ? 0 : 32 - Math.clz32(numShards - 1);
  const numSplits = Math.max(1, 10 - log2NumShards);
  return numShards * 2 ** numSplits;
}

/** The shard a document with this routing value (its `_id` unless a routing was given) lives on. */
export function shardIdFor(routing: string, numShards: number, routingNumShards: number): number {
  const factor = routingNumShards / numShards;
  const hash = routingHash(routing);
  const mod = ((hash % routingNumShards) + routingNumShards) % routingNumShards;
  return Math.floor(mod / factor);
}
