/**
 * Route plugins, registered in this order by buildServer. To add routes, write one file in this
 * folder exporting a fastify plugin (see detect.ts for the pattern) and list it here.
 */
import type { FastifyPluginAsync } from 'fastify'
import adminRoutes from './admin.js'
import caseRoutes from './cases.js'
import detectRoutes from './detect.js'
import evidenceRoutes from './evidence.js'
import healthRoutes from './health.js'
import keyRoutes from './keys.js'
import scheduleRoutes from './schedules.js'
import tryRoutes from './try.js'

export type RoutePlugin = FastifyPluginAsync

export const routePlugins: RoutePlugin[] = [healthRoutes, detectRoutes, caseRoutes, evidenceRoutes, keyRoutes, scheduleRoutes, adminRoutes, tryRoutes]
