import { followInfo, followStats, pauseFollow, putFollow, resumeFollow, unfollow } from './ccr';
import { acknowledged, ok, objectBody, type Route } from './http-types';
import { parseActiveShardCount, splitIndexExpression } from './params';

export const ccrRoutes: Route[] = [
  {
    method: 'PUT',
    path: '/{index}/_ccr/follow',
    handler: async (cluster, req) =>
      ok(
        await putFollow(
          cluster,
          req.params.index as string,
          objectBody(req),
          parseActiveShardCount(req.query.wait_for_active_shards),
        ),
      ),
  },
  {
    method: 'POST',
    path: '/{index}/_ccr/pause_follow',
    handler: (cluster, req) => {
      pauseFollow(cluster, req.params.index as string);
      return acknowledged();
    },
  },
  {
    method: 'POST',
    path: '/{index}/_ccr/resume_follow',
    handler: (cluster, req) => {
      resumeFollow(cluster, req.params.index as string, objectBody(req));
      return acknowledged();
    },
  },
  {
    method: 'POST',
    path: '/{index}/_ccr/unfollow',
    handler: (cluster, req) => {
      unfollow(cluster, req.params.index as string);
      return acknowledged();
    },
  },
  {
    method: 'GET',
    path: '/{index}/_ccr/info',
    handler: (cluster, req) => ok(followInfo(cluster, req.params.index as string)),
  },
  {
    method: 'GET',
    path: '/{index}/_ccr/stats',
    handler: (cluster, req) => ok(followStats(cluster, splitIndexExpression(req.params.index as string))),
  },
  {
    method: 'GET',
    path: '/_ccr/stats',
    handler: (cluster) =>
      ok({
        auto_follow_stats: cluster.autoFollow.stats(Date.now()),
        follow_stats: followStats(cluster, undefined),
      }),
  },
  { method: 'GET', path: '/_ccr/auto_follow', handler: (cluster) => ok(cluster.autoFollow.get(undefined)) },
  {
    method: 'GET',
    path: '/_ccr/auto_follow/{name}',
    handler: (cluster, req) => ok(cluster.autoFollow.get(req.params.name as string)),
  },
  {
    method: 'PUT',
    path: '/_ccr/auto_follow/{name}',
    handler: (cluster, req) => {
      cluster.autoFollow.put(cluster, req.params.name as string, objectBody(req));
      return acknowledged();
    },
  },
  {
    method: 'DELETE',
    path: '/_ccr/auto_follow/{name}',
    handler: (cluster, req) => {
      cluster.autoFollow.delete(req.params.name as string);
      cluster.metadataVersion++;
      return acknowledged();
    },
  },
  {
    method: 'POST',
    path: '/_ccr/auto_follow/{name}/pause',
    handler: (cluster, req) => {
      cluster.autoFollow.setActive(req.params.name as string, false);
      return acknowledged();
    },
  },
  {
    method: 'POST',
    path: '/_ccr/auto_follow/{name}/resume',
    handler: (cluster, req) => {
      cluster.autoFollow.setActive(req.params.name as string, true);
      return acknowledged();
    },
  },
];
