import type { ServiceDefinition } from '@grpc/grpc-js';
import type { MikroORM } from '@mikro-orm/core';
import { AliasServiceService } from '../gen/berth/v1/alias_service';
import { CheckpointServiceService } from '../gen/berth/v1/checkpoint_service';
import { FolderServiceService } from '../gen/berth/v1/folder_service';
import { NodeServiceService } from '../gen/berth/v1/node_service';
import { OperationServiceService } from '../gen/berth/v1/operation_service';
import { IamServiceService } from '../gen/berth/v1/iam_service';
import { AuditServiceService } from '../gen/berth/v1/audit_service';
import { UsageServiceService } from '../gen/berth/v1/usage_service';
import { usageService } from './api/usage-service';
import { Usage } from './control/usage';
import { auditService } from './api/audit-service';
import { AuditTrail } from './control/audit-trail';
import { iamService } from './api/iam-service';
import { accessGuardian } from './api/method-access';
import { Authenticator } from './control/authenticator';
import { CallAccess } from './control/call-access';
import { Iam } from './control/iam';
import { folderOf } from './control/resource-folders';
import { SecretServiceService } from '../gen/berth/v1/secret_service';
import { MethodTable } from './api/adapter';
import { aliasService } from './api/alias-service';
import { checkpointService } from './api/checkpoint-service';
import { BERTH_SERVICES, descriptors } from './api/descriptors';
import { folderService } from './api/folder-service';
import { createGrpcServer, type GrpcServer } from './api/grpc-server';
import { nodeService, typedAliasOf, typedNodeOf, type RunCall } from './api/node-service';
import { TypedApiService } from './api/typed-api-service';
import { typedRoutes } from './api/rest/typed-routes';
import { openApiRoute } from './api/rest/openapi-route';
import { controlPlaneOpenApi } from './api/rest/openapi';
import { operationService } from './api/operation-service';
import { secretService } from './api/secret-service';
import type { Config } from './config';
import { Aliases } from './control/aliases';
import { Checkpoints } from './control/checkpoints';
import { Environments } from './control/environments';
import type { CaptureSandbox } from './checkpoint/capture-sandbox';
import { ProcessCaptureSandbox } from './checkpoint/process-capture-sandbox';
import { DockerCaptureSandbox } from './runtime/docker/capture-container';
import { store, type ControlContext } from './control/context';
import { Folders } from './control/folders';
import { Nodes } from './control/nodes';
import { Operations } from './control/operations';
import { Secrets } from './control/secrets';
import { createHttpServer, type HttpServer } from './api/rest/http-server';
import { buildRoutes } from './api/rest/transcoder';
import { createLogger, type Logger } from './logger';
import { Observability } from './observability/observability';
import { dialectOf, openOrm } from './store/orm';
import path from 'node:path';
import Dockerode from 'dockerode';
import { BlobStore } from './checkpoint/blob-store';
import type { NodeApiFront } from './gateway/haproxy/node-api-front';
import type { HaproxyDataPlane } from './gateway/haproxy/data-plane';
import { NodeApiWiring } from './gateway/node-api-wiring';
import { secureContextOf } from './gateway/server-tls';
import { RoutingTable } from './gateway/routing-table';
import { SecretCipher } from './secrets/cipher';
import { loadSecretKey } from './secrets/key-file';
import { CheckpointExecutor } from './gateway/checkpoint-executor';
import { NodeWaker } from './gateway/node-waker';
import { WorkerTokens } from './checkpoint/worker-token';
import { workerScript } from './paths';
import type { Runtime } from './runtime/runtime';
import { GarbageCollector } from './supervisor/garbage-collector';
import { leaderLock, selectRuntime } from './startup-choices';
import { DEFAULT_SUPERVISOR_OPTIONS, Supervisor } from './supervisor/supervisor';
import { BerthMetrics } from './observability/berth-metrics';
import { metricsRoute, serverAdminOnly } from './observability/metrics-route';
import { TelemetryScraper } from './observability/telemetry-scraper';
import { MetricsRepository } from './store/metrics.repository';
import { NodeLogBook } from './control/node-logs';
import { nodeLogHandlers } from './api/node-log-service';
import { streamRoutes } from './api/rest/stream-routes';

/** A running Berth: its bound ports and how to stop it. */
export interface Berth {
  grpcPort: number;
  httpPort: number;
  nodeApiPort: number;
  /** What relays node-API calls (`--data-plane`). */
  dataPlane: 'builtin' | 'haproxy';
  /** HAProxy, with `--data-plane haproxy`. */
  haproxy?: HaproxyDataPlane;
  runtime: Runtime;
  supervisor: Supervisor;
  log: Logger;
  orm: MikroORM;
  /** Graceful: health NOT_SERVING, stop taking calls, drain, close the database. */
  stop(): Promise<void>;
}

/**
 * The only place that wires config, logger, ORM, runtime, servers and
 * reconciler together. Everything else receives what it needs.
 */
export async function startBerth(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Berth> {
  log.info({ database: dialectOf(config.databaseUrl), dataDir: config.dataDir }, 'starting berth');
  // Before the database: a key file that holds no key stops the start here.
  const cipher = new SecretCipher(loadSecretKey(config.secretKeyFile || path.join(config.dataDir, 'secret.key'), log.child({ component: 'secrets' })));
  // Before the database: a runtime Berth must not run is refused with nothing opened.
  const runtime = await selectRuntime(config, log);
  const workerTokens = await WorkerTokens.load(config.dataDir);
  const workerToken = (instanceId: string): string => workerTokens.of(instanceId);
  const orm = await openOrm(config.databaseUrl, log.child({ component: 'store' }));
  const ctx: ControlContext = { orm, now: () => new Date() };
  const folders = new Folders(ctx);
  await folders.ensureDefault();
  /** Generated APIs are named after their folders (names are unique server-wide). */
  const folderName = async (folderId: string): Promise<string> => (await folders.get(folderId)).name;
  const authenticator = new Authenticator(ctx, config.auth, log.child({ component: 'auth' }));
  const calls = new CallAccess(ctx);
  const iam = new Iam(ctx, () => authenticator.forget());
  if (config.auth === 'keys') await iam.bootstrap(config.adminKeyFile || path.join(config.dataDir, 'admin.key'), log);
  else log.warn({ host: config.host }, '--auth none: every caller is a server admin; this is safe only because the listeners bind to loopback');
  const secrets = new Secrets(ctx, folders, cipher);
  // Captures run where the checkpoint's instances will run: a container of its environment image, or --python.
  const sandbox: CaptureSandbox =
    runtime.kind === 'docker'
      ? new DockerCaptureSandbox({
          docker: new Dockerode(),
          runId: config.clusterId,
          ensureImage: (image, onProgress) => runtime.ensureImage(image, undefined, onProgress),
          workDir: path.join(config.dataDir, 'captures'),
          workerPath: workerScript(),
        })
      : new ProcessCaptureSandbox(config.python);
  if (sandbox instanceof DockerCaptureSandbox)
    await sandbox.removeLeftovers(config.captureTimeoutMs + 60_000).catch((err: unknown) => log.warn({ err }, 'could not remove capture containers left from before'));
  const routing = new RoutingTable();
  const metrics = new BerthMetrics({ repo: new MetricsRepository(orm), routing, log: log.child({ component: 'metrics' }), startedAt: ctx.now() });
  const environments = new Environments(sandbox, config.systemImage);
  const operations = new Operations(ctx, folders);
  const checkpoints = new Checkpoints(
    ctx,
    folders,
    new BlobStore(path.join(config.dataDir, 'blobs')),
    metrics.measureCaptures(sandbox),
    { systemImage: config.systemImage, timeoutMs: config.captureTimeoutMs, memoryMb: config.captureMemoryMb, quota: config.checkpointQuota },
    log.child({ component: 'capture' }),
    (operationId, line) => operations.reportProgress(operationId, line),
  );
  await checkpoints.failInterrupted(dialectOf(config.databaseUrl) === 'postgresql');

  const logBook = new NodeLogBook(ctx, runtime, config.logRetention, log.child({ component: 'logs' }), (nodeId) => nodes.get(nodeId));
  const usage: Usage = new Usage(ctx, folders, config.configurations, runtime, () => supervisor.isLeader(), log.child({ component: 'usage' }));
  const supervisor = new Supervisor(
    ctx,
    // Instances the supervisor starts and removes are metered at once, and their last output collected before removal.
    usage.metered(logBook.runtime),
    {
      python: config.python,
      workerPath: workerScript(),
      systemImage: config.systemImage,
      checkpoint: async (id: string) => {
        const checkpoint = await checkpoints.get(id);
        return { checkpoint, blobPath: checkpoints.blobPath(checkpoint) };
      },
      secretValues: (folderId: string, secretId: string) => secrets.values(folderId, secretId),
      workerToken,
    },
    routing,
    leaderLock(config, log),
    log.child({ component: 'supervisor' }),
    {
      ...DEFAULT_SUPERVISOR_OPTIONS,
      startupTimeoutMs: config.startupTimeoutMs,
      unhealthyGraceMs: config.unhealthyGraceMs,
      resyncMs: config.resyncMs,
      orphanGraceMs: config.orphanGraceMs,
      events: logBook,
    },
  );
  const collector = new GarbageCollector(logBook.runtime, (ids) => store(ctx).nodes.existingIds(ids), log.child({ component: 'gc' }), {
    graceMs: config.orphanGraceMs,
    intervalMs: config.gcIntervalMs,
    stopGraceSeconds: DEFAULT_SUPERVISOR_OPTIONS.stopGraceSeconds,
  });
  const nodes = new Nodes(
    ctx,
    folders,
    (nodeId) => {
      calls.forget();
      supervisor.notify(nodeId);
      void typed.sync();
    },
    config.instanceQuota,
    async () => (await runtime.capabilities()).gpuUnavailable,
    environments,
    config.configurations,
  );
  // Calls to sleeping nodes wait here while the supervisor starts an instance.
  const waker = new NodeWaker(routing, (nodeId) => supervisor.wake(nodeId), config.wake);
  metrics.measureHeldCalls(() => waker.heldCounts());
  const executor: CheckpointExecutor = new CheckpointExecutor(
    routing,
    { maxQueue: config.executeQueue, timeoutMs: config.executeTimeoutMs, maxBytes: config.maxMessageBytes, onWaited: metrics.measureQueue((): Map<string, number> => executor.queueDepths()) },
    (nodeId) => nodes.get(nodeId),
    workerToken,
    (nodeId, instanceId, err) => supervisor.reportFailure(nodeId, instanceId, err),
    waker,
  );
  // The node API's wiring needs the aliases; an alias changed meanwhile has nothing to tell it.
  let nodeApiOnceWired: NodeApiWiring | undefined;
  const aliases = new Aliases(
    ctx,
    folders,
    (folderId, names) => {
      calls.forget();
      for (const name of names) nodeApiOnceWired?.forgetAlias(folderId, name);
      void typed.sync();
    },
    logBook,
  );

  const run: RunCall = metrics.measureRun((nodeId, input, signal) => executor.run(nodeId, input, signal), async (id) => (await nodes.get(id)).folderId);
  const audit = new AuditTrail(ctx);
  const guardian = accessGuardian(authenticator, { calls, folderOf: (kind, id) => folderOf(ctx, kind, id), audit, log });
  /** The data plane outside the method table (typed APIs, the node API) asks the same questions. */
  const authorizeNodeCall = async (authorization: string | undefined, nodeId: string, viaFolderId?: string) =>
    calls.node(await authenticator.authenticate(authorization), nodeId, viaFolderId);
  const table = new MethodTable(guardian, metrics)
    .add(FolderServiceService, folderService(folders))
    .add(IamServiceService, iamService(iam))
    .add(AuditServiceService, auditService(audit))
    .add(NodeServiceService, { ...nodeService(nodes, aliases, run, folderName), ...nodeLogHandlers(logBook) })
    .add(AliasServiceService, aliasService(aliases))
    .add(CheckpointServiceService, checkpointService(checkpoints, nodes))
    .add(OperationServiceService, operationService(operations, nodes, checkpoints))
    .add(SecretServiceService, secretService(secrets))
    .add(UsageServiceService, usageService(usage));
  const services: ServiceDefinition[] = [
    FolderServiceService,
    IamServiceService,
    AuditServiceService,
    NodeServiceService,
    AliasServiceService,
    CheckpointServiceService,
    OperationServiceService,
    SecretServiceService,
    UsageServiceService,
  ];

  // The context of the listeners that run their own handshakes; cleartext when no certificate is configured.
  const tls = config.tls ? secureContextOf(config.tls) : undefined;
  const { registry } = descriptors();
  const routes = buildRoutes(registry, BERTH_SERVICES, table);
  const streams = buildRoutes(registry, BERTH_SERVICES, table, true);
  let ready = false;
  // The same browser rules on the three listeners (see gateway/browser-policy.ts).
  const browser = { corsOrigins: config.corsOrigins, allowedHosts: config.allowedHosts };
  // The access log and traces of all three listeners.
  const observability = new Observability({ otlpEndpoint: config.otlpEndpoint || undefined, clusterId: config.clusterId }, log);
  const grpc: GrpcServer = createGrpcServer(table, services, log.child({ component: 'grpc' }), {
    maxMessageBytes: config.maxMessageBytes,
    timeouts: config.connectionTimeouts,
    browser,
    tls,
    observability,
  });
  const typed = new TypedApiService({
    server: grpc.server,
    health: grpc.health,
    nodes,
    aliases,
    folderName,
    run,
    calls,
    authenticator,
    authorizeNodeCall,
    // A sleeping node serves too: a call wakes it.
    healthy: (nodeId) => {
      const route = routing.get(nodeId);
      return route !== undefined && (route.backends.length > 0 || route.maySleep);
    },
    log: log.child({ component: 'typed-api' }),
    resyncMs: config.resyncMs,
    observability,
  });
  const stopHealthUpdates = routing.onChange((nodeId) => typed.apis.healthChanged(nodeId));
  await typed.start();
  const http: HttpServer = createHttpServer({
    registry,
    routes: () => routes,
    log: log.child({ component: 'http' }),
    maxBodyBytes: config.maxMessageBytes,
    ready: () => ready,
    timeouts: config.connectionTimeouts,
    browser,
    tls: config.tls,
    observability,
    extra: [
      streamRoutes(() => streams, registry, log.child({ component: 'http' })),
      openApiRoute(() => controlPlaneOpenApi(registry, BERTH_SERVICES)),
      metricsRoute({
        metrics,
        telemetry: new TelemetryScraper(new MetricsRepository(orm), runtime, log.child({ component: 'telemetry' })),
        registry,
        authorizeMetrics: async (authorization) => {
          if (config.metricsAuth === 'keys') serverAdminOnly(await authenticator.authenticate(authorization));
        },
        authorizeFolder: async (authorization, folderId) =>
          guardian.check(NodeServiceService.listNodes.path, { folderId }, await authenticator.authenticate(authorization)),
      }),
      typedRoutes({
        registry,
        // As the typed gRPC service does: the node as last synced, read afresh only when it has no typed API yet.
        node: async (id) => typed.apis.node(id) ?? typedNodeOf(nodes, folderName, id),
        alias: (id) => typedAliasOf(aliases, nodes, folderName, id),
        run,
        maxBodyBytes: config.maxMessageBytes,
        log: log.child({ component: 'http' }),
        authorize: async (authorization, nodeId, action, viaFolderId) => {
          if (action === 'call') return authorizeNodeCall(authorization, nodeId, viaFolderId);
          await guardian.check(NodeServiceService.getNodeApi.path, { nodeId }, await authenticator.authenticate(authorization));
        },
        authorizeAlias: async (authorization, aliasId, action) => {
          const caller = await authenticator.authenticate(authorization);
          if (action === 'read') return guardian.check(AliasServiceService.getAlias.path, { aliasId }, caller);
          const alias = await aliases.get(aliasId);
          await calls.alias(caller, alias.folderId, alias.name);
        },
      }),
    ],
  });
  const nodeApi = new NodeApiWiring({
    config,
    log,
    routing,
    nodes,
    aliases,
    authenticator,
    calls,
    waker,
    metrics,
    observability,
    browser,
    tls,
    reportFailure: (nodeId, instanceId, err) => supervisor.reportFailure(nodeId, instanceId, err),
  });
  nodeApiOnceWired = nodeApi;
  supervisor.measureLoadWith((nodeId) => {
    const route = routing.get(nodeId);
    if (!route) return 0;
    if (route.kind === 'checkpoint') {
      const load = executor.inFlight(nodeId);
      return load.running + load.waiting;
    }
    return nodeApi.loadOf(route);
  }, (instanceId) => executor.isBusy(instanceId));
  supervisor.watchCallsWith((nodeId) => waker.activityOf(nodeId));
  supervisor.observeScalingWith(
    (nodeId, direction) => metrics.scaled(nodeId, direction),
    (nodeId, seconds) => metrics.woke(nodeId, seconds),
  );
  let grpcPort: number;
  let httpPort: number;
  let nodeApiPort: number;
  let nodeApiFront: NodeApiFront;
  try {
    grpcPort = await grpc.listen(config.host, config.grpcPort);
    httpPort = await http.listen(config.host, config.httpPort);
    nodeApiFront = await nodeApi.listen();
    nodeApiPort = nodeApiFront.port;
  } catch (err) {
    stopHealthUpdates();
    typed.close();
    waker.close();
    executor.close();
    await grpc.close(0);
    await http.close(0);
    await nodeApi.close(0);
    await observability.shutdown();
    await orm.close(true);
    throw err;
  }
  // Before the supervisor: the first instances to turn healthy are cold starts too.
  metrics.start();
  supervisor.start();
  logBook.start(() => supervisor.isLeader());
  collector.start();
  usage.start();
  authenticator.start();
  ready = true;
  grpc.health.setStatus('', 'SERVING');
  for (const name of BERTH_SERVICES) grpc.health.setStatus(name, 'SERVING');
  log.info(
    {
      grpcPort,
      httpPort,
      nodeApiPort,
      host: config.host,
      runtime: runtime.kind,
      dataPlane: nodeApiFront.dataPlane,
      // Which listeners serve TLS: all three, or none.
      tls: config.tls ? { listeners: ['grpc', 'http', 'node-api'], cert: config.tls.certFile } : false,
    },
    'berth is serving',
  );

  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort,
    nodeApiPort,
    dataPlane: nodeApiFront.dataPlane,
    haproxy: nodeApiFront.haproxy,
    runtime,
    supervisor,
    log,
    orm,
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down');
        ready = false;
        grpc.health.setStatus('', 'NOT_SERVING');
        for (const name of BERTH_SERVICES) grpc.health.setStatus(name, 'NOT_SERVING');
        await Promise.all([grpc.close(config.shutdownGraceMs), http.close(config.shutdownGraceMs), nodeApi.close(config.shutdownGraceMs)]);
        // Instances keep running: the next start adopts them.
        typed.close();
        await collector.stop();
        await usage.stop();
        await authenticator.stop();
        await supervisor.stop();
        await logBook.stop();
        stopHealthUpdates();
        metrics.stop();
        waker.close();
        executor.close();
        await observability.shutdown().catch((err: unknown) => log.warn({ err }, 'could not send the last spans'));
        await orm.close(true);
        log.info('stopped');
      })()),
  };
}
