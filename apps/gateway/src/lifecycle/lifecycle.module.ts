import { Module } from '@nestjs/common';
import { DrainService } from './drain.service';

/** Draining: the gateway's stopping state and the RPCs in flight. */
@Module({ providers: [DrainService], exports: [DrainService] })
export class LifecycleModule {}
