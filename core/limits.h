/*
 * limits.h — every size bound ferry enforces, in one place.
 *
 * Anything read from a stick, a mirror or the sky is hostile; each parser
 * checks lengths against one of these before it allocates.  Raising one is
 * a format decision: say why in docs/format.md.
 */
#ifndef FERRY_CORE_LIMITS_H
#define FERRY_CORE_LIMITS_H

/* Chunker bounds (the configured values must lie inside these). */
#define LIMIT_CHUNK_MIN_FLOOR (1u << 10)         /* 1 KiB */
#define LIMIT_CHUNK_MAX (4u << 20)               /* 4 MiB */

/* A pack file and its index. */
#define LIMIT_PACK_BYTES ((1ull << 32) - 1)      /* under 4 GiB: FAT32-safe */
#define LIMIT_PACK_ENTRIES (1u << 22)
#define LIMIT_PACK_DEFAULT_BYTES (64ull << 20)   /* recommended pack cap */

/* Text formats. */
#define LIMIT_POINTER_BYTES (32u << 20)          /* a pointer blob (≈ 400k chunks) */
#define LIMIT_POINTER_CHUNKS 400000u
#define LIMIT_HEAD_BYTES (64u << 10)
#define LIMIT_CONFIG_BYTES (256u << 10)
#define LIMIT_CATALOG_BYTES (256u << 20)
#define LIMIT_KEY_FILE_BYTES (64u << 10)
#define LIMIT_SIGNATURE_BYTES (16u << 10)      /* armored sshsig (Ed25519: ~300 bytes) */
#define LIMIT_SIG_NAMESPACE_BYTES 64u           /* sshsig namespace ("git", "ferry-head") */
#define LIMIT_LINE_BYTES (64u << 10)

/* Names. */
#define LIMIT_PATH_BYTES 4096u
#define LIMIT_NAME_BYTES 255u
#define LIMIT_CHANNEL_BYTES 200u
#define LIMIT_PATH_DEPTH 64u
#define LIMIT_URL_BYTES 4096u                   /* a source URL (sync/db.h) */

/* The school store's database (sync/db_sqlite.c): the largest string, blob
 * or row it reads or writes, above LIMIT_HEAD_BYTES and LIMIT_LINE_BYTES. */
#define LIMIT_DB_VALUE_BYTES (1u << 20)

/* A single file in a release: 1 TiB (deliberately above any real video). */
#define LIMIT_FILE_BYTES (1ull << 40)

/* Deltas (packager/delta.h): the largest base or target file a delta is
 * made or applied for (each side holds both in memory), one stored delta,
 * and a release's meta/deltas list. */
#define LIMIT_DELTA_FILE_BYTES (256u << 20)
#define LIMIT_DELTA_BYTES LIMIT_CHUNK_MAX
#define LIMIT_DELTA_RECORDS (1u << 18)
#define LIMIT_DELTA_LIST_BYTES (64u << 20)
#define LIMIT_DELTA_BLOBS 16u                    /* meta/deltas/<version> blobs */

/* Satellite FEC: the RaptorQ profile of DESIGN §7 (RFC 6330 allows more;
 * these bound what a receiver accepts and allocates). */
#define LIMIT_RQ_SOURCE_SYMBOLS 8192u            /* K per source block */
#define LIMIT_RQ_SOURCE_BLOCKS 255u              /* Z per object */
#define LIMIT_RQ_SYMBOL_BYTES 65532u             /* T, a multiple of 4 */
#define LIMIT_RQ_EXTRA_SYMBOLS 64u               /* kept by a decoder beyond K */

/* The manifest git repository (manifests/git_libgit2.c). */
#define LIMIT_GIT_PACK_BYTES (1ull << 30)        /* one git packfile imported from outside */
#define LIMIT_GIT_PACK_OBJECTS (1u << 23)        /* objects in such a pack */
#define LIMIT_GIT_OBJECT_BYTES (256u << 20)      /* any object a pack may declare (= catalog) */
#define LIMIT_GIT_TREE_BYTES (16u << 20)         /* one tree object read back */
#define LIMIT_GIT_WALK_BYTES (48u << 20)         /* tree objects held at once by a walk or diff */
#define LIMIT_GIT_TREE_ENTRIES (1u << 23)        /* files in one tree builder */
#define LIMIT_GIT_COMMIT_BYTES (1u << 20)        /* one commit object */
#define LIMIT_GIT_REFNAME_BYTES 255u

/* Network transports (sync/transport_http.c, sync/transport_sftp.c). */
#define LIMIT_HTTP_REDIRECTS 8u                  /* hops followed for one request */
#define LIMIT_KNOWN_HOSTS_BYTES (4u << 20)       /* an OpenSSH known_hosts file */
#define LIMIT_LIST_ENTRIES (1u << 22)            /* entries of one remote folder listing */

#endif
