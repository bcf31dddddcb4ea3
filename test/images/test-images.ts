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
