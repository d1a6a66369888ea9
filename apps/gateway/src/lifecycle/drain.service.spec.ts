import { DrainService } from './drain.service';

describe('DrainService', () => {
  it('is idle at once with nothing in flight', async () => {
    await expect(new DrainService().waitIdle(10)).resolves.toBe(true);
  });

  it('waits for the last RPC to end, counting each end once', async () => {
    const d = new DrainService();
    const a = d.track();
    const b = d.track();
    const idle = d.waitIdle(1000);
    a();
    a(); // a second call must not count b as ended
    expect(d.inflightCount).toBe(1);
    b();
    await expect(idle).resolves.toBe(true);
  });

  it('gives up at the deadline', async () => {
    const d = new DrainService();
    d.track();
    await expect(d.waitIdle(20)).resolves.toBe(false);
  });

  it('announces draining once', () => {
    const d = new DrainService();
    const seen: number[] = [];
    d.changes.subscribe(() => seen.push(1));
    d.startDraining();
    d.startDraining();
    expect([d.draining, seen.length]).toEqual([true, 1]);
  });
});

describe('DrainService.drained', () => {
  it('fires once draining has started and the last RPC has ended', () => {
    const d = new DrainService();
    let fired = 0;
    d.drained.subscribe(() => fired++);
    const end = d.track();
    end(); // not draining yet
    const end2 = d.track();
    d.startDraining();
    expect(fired).toBe(0);
    end2();
    expect(fired).toBe(1);
  });

  it('fires at once when draining starts with nothing in flight', () => {
    const d = new DrainService();
    let fired = 0;
    d.drained.subscribe(() => fired++);
    d.startDraining();
    expect(fired).toBe(1);
  });
});
