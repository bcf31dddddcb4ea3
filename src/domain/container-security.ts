import { LIMITS } from './limits';
import { Violations, quoted } from './validation';

/**
 * What a Docker node may change about how its containers run. Berth's
 * defaults (Docker's default capabilities minus NET_RAW, no-new-privileges,
 * a PID limit, the node's CPU and memory) hold for everything not named here,
 * and nothing here can ask for privileged mode, host mounts or the host
 * network: the spec has no words for them.
 */
export interface ContainerSecurity {
  /** The user (and group) the image's process starts as; empty: the image's own. */
  user: string;
  /** Capabilities added, upper case without `CAP_`, each from {@link ADDABLE_CAPABILITIES}. */
  capAdd: string[];
  /** Capabilities dropped besides NET_RAW, upper case without `CAP_`; `ALL` drops every one. */
  capDrop: string[];
  readOnlyRootFilesystem: boolean;
  tmpfs: TmpfsMount[];
}

export interface TmpfsMount {
  path: string;
  sizeBytes: number;
}

/** Nothing changed: Berth's defaults. */
export function defaultSecurity(): ContainerSecurity {
  return { user: '', capAdd: [], capDrop: [], readOnlyRootFilesystem: false, tmpfs: [] };
}

/** The size of a tmpfs mount that names none. */
export const DEFAULT_TMPFS_BYTES = 64 * 2 ** 20;

/**
 * The capabilities Docker gives a container unless told otherwise (moby's
 * `oci/caps/defaults.go`). Berth starts from these minus NET_RAW: enough for
 * an image that starts as root to chown its directories and drop to its own
 * user (nginx, postgres, most Debian packages), nothing that reaches beyond
 * the container.
 */
export const DOCKER_DEFAULT_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
] as const;

/**
 * What cap_add may name: Docker's defaults (NET_RAW among them, for ping and
 * raw sockets), IPC_LOCK (mlock, for servers that pin memory) and SYS_NICE
 * (priorities and CPU affinity). Every other capability gives power over the
 * host or other containers (SYS_ADMIN mounts, NET_ADMIN rewires the network,
 * SYS_PTRACE reads other processes, SYS_MODULE loads kernel code…).
 */
export const ADDABLE_CAPABILITIES: readonly string[] = [...DOCKER_DEFAULT_CAPABILITIES, 'IPC_LOCK', 'SYS_NICE'];

/** Every Linux capability (capabilities(7)), so that a typo is told apart from a refusal. */
export const LINUX_CAPABILITIES: readonly string[] = [
  'AUDIT_CONTROL',
  'AUDIT_READ',
  'AUDIT_WRITE',
  'BLOCK_SUSPEND',
  'BPF',
  'CHECKPOINT_RESTORE',
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'IPC_LOCK',
  'IPC_OWNER',
  'KILL',
  'LEASE',
  'LINUX_IMMUTABLE',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'MKNOD',
  'NET_ADMIN',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_RAW',
  'PERFMON',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYSLOG',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_CHROOT',
  'SYS_MODULE',
  'SYS_NICE',
  'SYS_PACCT',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'WAKE_ALARM',
];

/** `cap_net_raw`, `CAP_NET_RAW` and `NET_RAW` all name NET_RAW. */
export function normalizeCapability(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

/** The security part as stored and shown back: capability names normalized, tmpfs sizes filled in. */
export function securityWithDefaults(s: ContainerSecurity): ContainerSecurity {
  return {
    ...s,
    capAdd: s.capAdd.map(normalizeCapability),
    capDrop: s.capDrop.map(normalizeCapability),
    tmpfs: s.tmpfs.map((m) => ({ path: m.path, sizeBytes: m.sizeBytes || DEFAULT_TMPFS_BYTES })),
  };
}

/** A user or group name as Docker resolves it in the image's /etc/passwd, or a number. */
const USER_PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_ID = 2 ** 31 - 1;

function checkUser(v: Violations, field: string, user: string): void {
  if (user === '') return;
  if (user.length > LIMITS.containerUserChars) {
    v.add(field, `is ${user.length} characters long; at most ${LIMITS.containerUserChars}`);
    return;
  }
  const parts = user.split(':');
  if (parts.length > 2 || !parts.every((p) => USER_PART.test(p)))
    v.add(field, `${quoted(user)} is not a user: give a name or number, optionally with a group (e.g. "1000", "1000:1000", "nginx")`);
  else if (parts.some((p) => /^\d+$/.test(p) && Number(p) > MAX_ID)) v.add(field, `${quoted(user)}: a user or group id is at most ${MAX_ID}`);
}

function checkCapabilityList(v: Violations, field: string, list: string[], allowed: (name: string) => string | undefined): void {
  if (list.length > LIMITS.capabilityEntries) v.add(field, `has ${list.length} entries; at most ${LIMITS.capabilityEntries}`);
  const seen = new Set<string>();
  list.slice(0, LIMITS.capabilityEntries).forEach((name, i) => {
    const at = `${field}[${i}]`;
    if (name === '') v.add(at, 'is empty; name a capability, e.g. "NET_BIND_SERVICE"');
    else if (seen.has(name)) v.add(at, `${quoted(name)} is named twice`);
    else {
      const problem = allowed(name);
      if (problem) v.add(at, problem);
    }
    seen.add(name);
  });
}

const ADDABLE_TEXT = 'cap_add takes Docker\'s default capabilities, NET_RAW, IPC_LOCK and SYS_NICE';

/** Why a capability may not be added, or undefined when it may. */
function addProblem(name: string, capDrop: string[]): string | undefined {
  if (name === 'ALL') return `"ALL" cannot be added; ${ADDABLE_TEXT}`;
  if (!LINUX_CAPABILITIES.includes(name)) return `${quoted(name)} is not a Linux capability`;
  if (!ADDABLE_CAPABILITIES.includes(name))
    return `${quoted(name)} may not be added: it gives power beyond the container (Berth runs nothing privileged); ${ADDABLE_TEXT}`;
  if (capDrop.includes(name)) return `${quoted(name)} is also in cap_drop; name it in one of them`;
  return undefined;
}

function dropProblem(name: string): string | undefined {
  if (name === 'ALL' || LINUX_CAPABILITIES.includes(name)) return undefined;
  return `${quoted(name)} is not a Linux capability (or "ALL")`;
}

/** Paths the engine itself mounts: a tmpfs over them would hide what the container needs. */
const ENGINE_PATHS = ['/proc', '/sys', '/dev'];
const TMPFS_PATH = /^(\/[A-Za-z0-9._@+-]+)+$/;

function checkTmpfs(v: Violations, field: string, mounts: TmpfsMount[]): void {
  if (mounts.length > LIMITS.tmpfsMounts) v.add(field, `has ${mounts.length} mounts; at most ${LIMITS.tmpfsMounts}`);
  const seen = new Map<string, number>();
  mounts.slice(0, LIMITS.tmpfsMounts).forEach((m, i) => {
    const at = `${field}[${i}]`;
    const path = m.path;
    if (path === '') v.add(`${at}.path`, 'is required');
    else if (path.length > LIMITS.tmpfsPathChars) v.add(`${at}.path`, `is ${path.length} characters long; at most ${LIMITS.tmpfsPathChars}`);
    else if (path === '/') v.add(`${at}.path`, 'cannot be "/"; make the root filesystem writable or mount tmpfs on the directories to write');
    else if (!TMPFS_PATH.test(path) || path.split('/').some((seg) => seg === '.' || seg === '..'))
      v.add(`${at}.path`, `${quoted(path)} is not an absolute, normalized path (e.g. "/run"; letters, digits and "._@+-" between slashes)`);
    else if (ENGINE_PATHS.some((p) => path === p || path.startsWith(`${p}/`))) v.add(`${at}.path`, `${quoted(path)} is under ${path.split('/', 2).join('/')}, which the engine mounts`);
    else if (seen.has(path)) v.add(`${at}.path`, `${quoted(path)} is also mounted by ${field}[${seen.get(path)}]`);
    seen.set(path, i);
    if (!Number.isSafeInteger(m.sizeBytes) || m.sizeBytes < LIMITS.tmpfsBytesMin || m.sizeBytes > LIMITS.tmpfsBytesMax)
      v.add(`${at}.size_bytes`, `is ${m.sizeBytes}; must be from 1 MiB to 16 GiB (default 64 MiB)`);
  });
}

/** Checks the security part of a Docker node spec (with defaults applied); `field` is its path. */
export function checkSecurity(v: Violations, field: string, s: ContainerSecurity): void {
  checkUser(v, `${field}.user`, s.user);
  checkCapabilityList(v, `${field}.cap_add`, s.capAdd, (name) => addProblem(name, s.capDrop));
  checkCapabilityList(v, `${field}.cap_drop`, s.capDrop, dropProblem);
  checkTmpfs(v, `${field}.tmpfs`, s.tmpfs);
}
