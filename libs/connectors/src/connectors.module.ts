import { DynamicModule, Module, Type } from '@nestjs/common';
import { ConnectorRegistryModule } from '@app/connector-sdk';
import { LexConnectorFactory } from './aws-lex/lex.factory';
import { LocalAudioConnectorFactory } from './local-audio/local-audio.factory';

/** The connectors that ship with the gateway; each lives in a folder of its own. */
@Module({ providers: [LocalAudioConnectorFactory, LexConnectorFactory] })
export class BuiltInConnectorsModule {}

/** Built-in connector providers plus any plugin modules named in the config. */
@Module({})
export class ConnectorsModule {
  static forRoot(plugins: Array<Type<unknown> | DynamicModule> = [], pluginProblems?: Map<string, string[]>): DynamicModule {
    return ConnectorRegistryModule.forRoot([BuiltInConnectorsModule, ...plugins], pluginProblems);
  }
}
