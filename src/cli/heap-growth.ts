import v8 from 'node:v8';

const FLAG = '--heap-growing-percent';

/**
 * Sets V8's old-generation growing factor to 1 + percent/100 (0 leaves V8's
 * own, dynamic factor). V8 reads this flag at every full collection, so it
 * takes effect at run time; a value given to node itself
 * (`node --heap-growing-percent=N`) wins.
 */
export function applyHeapGrowth(percent: number): void {
  if (process.execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return;
  v8.setFlagsFromString(`${FLAG}=${percent}`);
}
