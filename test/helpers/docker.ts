import Dockerode from 'dockerode';

let available: Promise<boolean> | undefined;

/** Whether a Docker engine answers; with BERTH_REQUIRE_DOCKER=1 its absence is a failure, not a skip. */
export function dockerAvailable(): Promise<boolean> {
  available ??= (async () => {
    try {
      await new Dockerode().ping();
      return true;
    } catch (err) {
      if (process.env.BERTH_REQUIRE_DOCKER === '1') throw new Error(`a Docker engine is required (BERTH_REQUIRE_DOCKER=1) but none answers: ${(err as Error).message}`);
      console.warn(`\n*** SKIPPING Docker tests: no Docker engine answers (${(err as Error).message}) ***\n`);
      return false;
    }
  })();
  return available;
}

/** Removes every container and network labelled with this Berth cluster id (the test's run id). */
export async function removeByClusterId(clusterId: string): Promise<void> {
  const docker = new Dockerode();
  const filters = { label: [`berth.run_id=${clusterId}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
}

/** Containers and networks labelled with this cluster id. */
export async function listByClusterId(clusterId: string): Promise<{ containers: Dockerode.ContainerInfo[]; networks: Dockerode.NetworkInspectInfo[] }> {
  const docker = new Dockerode();
  const filters = { label: [`berth.run_id=${clusterId}`] };
  return { containers: await docker.listContainers({ all: true, filters }), networks: await docker.listNetworks({ filters }) };
}
