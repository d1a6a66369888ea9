import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { MetricsReader } from '../monitoring-readers';

@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsReader) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics (text format)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' }, description: 'Prometheus text exposition format' })
  async scrape(@Res() res: { setHeader(name: string, value: string): void; send(body: string): void }): Promise<void> {
    const { contentType, body } = await this.metrics.text();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  }
}
