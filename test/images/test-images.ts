import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

/** The script that builds the test images; see its header for what they contain. */
export const BUILD_TEST_IMAGES_SCRIPT = resolve(__dirname, '../../scripts/build-test-images.sh');

/** Content-hash tags of the images integration tests run. */
export interface TestImages {
  /** `berth-test-http:<hash>`: the HTTP server in test/images/http-server. */
  http: string;
  /** `berth-test-grpc:<hash>`: the gRPC server in test/images/grpc-server. */
  grpc: string;
}

let built: Promise<TestImages> | undefined;

/**
 * Builds (or finds, when nothing changed) the test images and returns their
 * tags. Test files call this in their setup; the script skips unchanged
 * images and serialises concurrent builds, so calling it from every file is cheap.
 */
export function buildTestImages(): Promise<TestImages> {
  built ??= (async () => {
    const { stdout } = await promisify(execFile)(BUILD_TEST_IMAGES_SCRIPT, [], { timeout: 300_000 });
    const vars = new Map(
      stdout
        .split('\n')
        .map((line) => /^(\w+)=(\S+)$/.exec(line.trim()))
        .flatMap((m) => (m && m[1] && m[2] ? [[m[1], m[2]] as const] : [])),
    );
    const http = vars.get('BERTH_TEST_HTTP_IMAGE');
    const grpc = vars.get('BERTH_TEST_GRPC_IMAGE');
    if (!http || !grpc) throw new Error(`${BUILD_TEST_IMAGES_SCRIPT} printed no image tags:\n${stdout}`);
    return { http, grpc };
  })();
  return built;
}

/** The script that builds berth-python, the system image of checkpoint instances under the docker runtime. */
export const BUILD_SYSTEM_IMAGE_SCRIPT = resolve(__dirname, '../../scripts/build-system-image.sh');

let systemImage: Promise<string> | undefined;

/** Builds (or finds) the system image and returns its tag, for checkpoint nodes on the docker runtime. */
export function buildSystemImage(): Promise<string> {
  systemImage ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [BUILD_SYSTEM_IMAGE_SCRIPT], { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    const tag = /^BERTH_SYSTEM_IMAGE=(\S+)$/m.exec(stdout)?.[1];
    if (!tag) throw new Error(`${BUILD_SYSTEM_IMAGE_SCRIPT} printed no BERTH_SYSTEM_IMAGE line:\n${stdout}`);
    return tag;
  })();
  return systemImage;
}

/** The script that builds berth-test-nginx: Debian's nginx package, as it comes, on port 8080. */
export const BUILD_NGINX_IMAGE_SCRIPT = resolve(__dirname, '../../scripts/build-nginx-image.sh');

let nginxImage: Promise<string> | undefined;

/** Builds (or finds) the stock nginx image and returns its tag; the first build takes a minute or two. */
export function buildNginxImage(): Promise<string> {
  nginxImage ??= (async () => {
    const { stdout } = await promisify(execFile)('bash', [BUILD_NGINX_IMAGE_SCRIPT], { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    const tag = /^BERTH_TEST_NGINX_IMAGE=(\S+)$/m.exec(stdout)?.[1];
    if (!tag) throw new Error(`${BUILD_NGINX_IMAGE_SCRIPT} printed no BERTH_TEST_NGINX_IMAGE line:\n${stdout}`);
    return tag;
  })();
  return nginxImage;
}
