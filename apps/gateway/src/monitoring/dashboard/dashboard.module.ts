import { Module } from '@nestjs/common';
import { MonitoringAuthModule } from '../auth/monitoring-auth.module';
import { DashboardController, DashboardErrorFilter } from './dashboard.controller';
import { DashboardEvents } from './dashboard-events.service';
import { DashboardPages } from './dashboard-pages.service';
import { DashboardViews } from './dashboard-views.service';

/**
 * The server-rendered dashboard (eta templates, its own assets, Server-Sent Events), part of the monitoring HTTP
 * application; it reads the call log and the status (CallLogService, StatusService) as that application provides them.
 */
@Module({
  imports: [MonitoringAuthModule],
  controllers: [DashboardController],
  providers: [DashboardViews, DashboardPages, DashboardEvents, DashboardErrorFilter],
})
export class DashboardModule {}
