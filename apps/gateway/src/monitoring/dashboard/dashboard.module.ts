import { forwardRef, Module } from '@nestjs/common';
import { MonitoringAuthModule } from '../auth/monitoring-auth.module';
import { MonitoringModule } from '../monitoring.module';
import { DashboardController, DashboardErrorFilter } from './dashboard.controller';
import { DashboardEvents } from './dashboard-events.service';
import { DashboardPages } from './dashboard-pages.service';
import { DashboardViews } from './dashboard-views.service';

/** The server-rendered dashboard (eta templates, its own assets, Server-Sent Events), reading the monitoring services. */
@Module({
  imports: [forwardRef(() => MonitoringModule), MonitoringAuthModule],
  controllers: [DashboardController],
  providers: [DashboardViews, DashboardPages, DashboardEvents, DashboardErrorFilter],
})
export class DashboardModule {}
