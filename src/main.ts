import type { ServiceDefinition } from '@grpc/grpc-js';
import type { MikroORM } from '@mikro-orm/core';
import { AliasServiceService } from '../gen/berth/v1/alias_service';
import { CheckpointServiceService } from '../gen/berth/v1/checkpoint_service';
import { FolderServiceService } from '../gen/berth/v1/folder_service';
import { NodeServiceService } from '../gen/berth/v1/node_service';
import { OperationServiceService } from '../gen/berth/v1/operation_service';
import { MethodTable } from './api/adapter';
import { aliasService } from './api/alias-service';
import { checkpointService } from './api/checkpoint-service';
import { BERTH_SERVICES, descriptors } from './api/descriptors';
import { folderService } from './api/folder-service';
import { createGrpcServer, type GrpcServer } from './api/grpc-server';
import { nodeService } from './api/node-service';
import { operationService } from './api/operation-service';
import type { Config } from './config';
import { Aliases } from './control/aliases';
import { Checkpoints } from './control/checkpoints';
import type { ControlContext } from './control/context';
import { Folders } from './control/folders';
import { Nodes } from './control/nodes';
import { Operations } from './control/operations';
import { createHttpServer, type HttpServer } from './gateway/http-server';
import { buildRoutes } from './gateway/transcoder';
import { createLogger, type Logger } from './logger';
import { dialectOf, openOrm } from './store/orm';

/** A running Berth: its bound ports and how to stop it. */
export interface Berth {
  grpcPort: number;
  httpPort: number;
  log: Logger;
  orm: MikroORM;
  /** Graceful: health NOT_SERVING, stop taking calls, drain, close the database. */
  stop(): Promise<void>;
}

/**
 * The only place that wires config, logger, ORM, servers and (later) runtime
 * and reconciler together. Everything else receives what it needs.
 */
export async function startBerth(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Berth> {
  log.info({ database: dialectOf(config.databaseUrl), dataDir: config.dataDir }, 'starting berth');
  const orm = await openOrm(config.databaseUrl, log.child({ component: 'store' }));
  const ctx: ControlContext = { orm, now: () => new Date() };
  const folders = new Folders(ctx);
  await folders.ensureDefault();
  const nodes = new Nodes(ctx, folders);
  const aliases = new Aliases(ctx, folders);
  const operations = new Operations(ctx);
  const checkpoints = new Checkpoints(ctx, folders);

  const table = new MethodTable()
    .add(FolderServiceService, folderService(folders))
    .add(NodeServiceService, nodeService(nodes, aliases))
    .add(AliasServiceService, aliasService(aliases))
    .add(CheckpointServiceService, checkpointService(checkpoints))
    .add(OperationServiceService, operationService(operations, nodes));
  const services: ServiceDefinition[] = [FolderServiceService, NodeServiceService, AliasServiceService, CheckpointServiceService, OperationServiceService];

  const { registry } = descriptors();
  const routes = buildRoutes(registry, BERTH_SERVICES, table);
  let ready = false;
  const grpc: GrpcServer = createGrpcServer(table, services, log.child({ component: 'grpc' }), { maxMessageBytes: config.maxMessageBytes });
  const http: HttpServer = createHttpServer({
    registry,
    routes: () => routes,
    log: log.child({ component: 'http' }),
    maxBodyBytes: config.maxMessageBytes,
    ready: () => ready,
  });
  let grpcPort: number;
  let httpPort: number;
  try {
    grpcPort = await grpc.listen(config.host, config.grpcPort);
    httpPort = await http.listen(config.host, config.httpPort);
  } catch (err) {
    await grpc.close(0);
    await http.close(0);
    await orm.close(true);
    throw err;
  }
  ready = true;
  grpc.health.setStatus('', 'SERVING');
  for (const name of BERTH_SERVICES) grpc.health.setStatus(name, 'SERVING');
  log.info({ grpcPort, httpPort, host: config.host }, 'berth is serving');

  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort,
    log,
    orm,
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down');
        ready = false;
        grpc.health.setStatus('', 'NOT_SERVING');
        for (const name of BERTH_SERVICES) grpc.health.setStatus(name, 'NOT_SERVING');
        await Promise.all([grpc.close(config.shutdownGraceMs), http.close(config.shutdownGraceMs)]);
        await orm.close(true);
        log.info('stopped');
      })()),
  };
}
