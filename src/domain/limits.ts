/**
 * Limits on every field a caller controls. They keep each stored row and each
 * answer small (two nodes with a 9 MB env value used to make every ListNodes
 * of their folder exceed the gRPC message limit), and they are named here once
 * so that validation, messages and the `.proto` comments agree.
 */
export const LIMITS = {
  /** Characters of a folder, node, alias, checkpoint or secret description. */
  descriptionChars: 256,
  /** Entries of a labels map. */
  labelEntries: 64,
  /** Entries of an alias's metadata map. */
  metadataEntries: 64,
  /** Characters of a metadata key. */
  metadataKeyChars: 63,
  /** Characters of a metadata value. */
  metadataValueChars: 1024,
  /** Environment variables of a Docker node. */
  envEntries: 256,
  /** Characters of one environment variable name. */
  envNameChars: 256,
  /** Bytes (UTF-8) of one environment variable value. */
  envValueBytes: 32 * 1024,
  /** Bytes (UTF-8) of every name and value of a node's environment together. */
  envTotalBytes: 128 * 1024,
  /** Environment variables of a Docker node set from secrets (env_from_secrets). */
  envFromSecrets: 64,
  /** Entries of one version of a secret. */
  secretEntries: 64,
  /** Characters of a secret entry's key. */
  secretKeyChars: 128,
  /** Bytes (UTF-8) of one secret value. */
  secretValueBytes: 64 * 1024,
  /** Bytes (UTF-8) of every key and value of one version of a secret together. */
  secretTotalBytes: 256 * 1024,
  /** Entries of a Docker node's command, and of its args. */
  argvEntries: 256,
  /** Bytes (UTF-8) of one command or args entry. */
  argvEntryBytes: 4 * 1024,
  /** Bytes (UTF-8) of the command and args together. */
  argvTotalBytes: 64 * 1024,
  /** Characters of a Docker image or environment image reference. */
  imageRefChars: 512,
  /** Characters of a health check path, telemetry path or gRPC service name. */
  pathChars: 1024,
  /** Declared input (or output) variables of a checkpoint node. */
  variables: 128,
  /** Characters of a variable name. */
  variableNameChars: 128,
  /** Code cells of a checkpoint. */
  cells: 1000,
  /** Bytes (UTF-8) of one cell's source. */
  cellSourceBytes: 256 * 1024,
  /** Bytes (UTF-8) of every cell's source together. */
  cellsTotalBytes: 4 * 1024 * 1024,
  /** Bytes (UTF-8) of an uploaded notebook (.ipynb JSON). */
  notebookBytes: 8 * 1024 * 1024,
  /** Characters of an id (ids are made by Berth: a prefix and a time-ordered suffix). */
  idChars: 64,
  /** Characters of a list filter. */
  filterChars: 1024,
  /** Characters of a page token. */
  pageTokenChars: 1024,
  /** Characters of an etag. */
  etagChars: 64,
  /** Paths of an update mask. */
  maskPaths: 64,
  /** Largest memory limit of a node: what a runtime can use (1 TiB). */
  memoryBytesMax: 2 ** 40,
  /** Smallest memory limit of a node besides 0 (no limit). */
  memoryBytesMin: 16 * 2 ** 20,
  /** Characters of a Docker node's container user (`1000:1000`, `nginx`). */
  containerUserChars: 64,
  /** Entries of a Docker node's cap_add, and of its cap_drop. */
  capabilityEntries: 64,
  /** tmpfs mounts of a Docker node. */
  tmpfsMounts: 16,
  /** Characters of a tmpfs mount path. */
  tmpfsPathChars: 256,
  /** Smallest size of a tmpfs mount. */
  tmpfsBytesMin: 2 ** 20,
  /** Largest size of a tmpfs mount (16 GiB); what it holds counts toward the memory limit anyway. */
  tmpfsBytesMax: 16 * 2 ** 30,
  /** Largest protobuf Duration (10,000 years, as google.protobuf.Duration allows). */
  durationSecondsMax: 315_576_000_000,
} as const;
