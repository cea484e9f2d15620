/** A discrete-event clock: callbacks run in time order (ties in the order they were scheduled). */
export class Clock {
	now = 0;
	#seq = 0;
	readonly #heap: { at: number; seq: number; run: () => void }[] = [];

	at(time: number, run: () => void): void {
		const item = { at: Math.max(time, this.now), seq: this.#seq++, run };
		const heap = this.#heap;
		heap.push(item);
		let i = heap.length - 1;
		while (i > 0) {
			const parent = (i - 1) >> 1;
			if (!before(item, heap[parent] as typeof item)) break;
			heap[i] = heap[parent] as typeof item;
			i = parent;
		}
		heap[i] = item;
	}

	after(delay: number, run: () => void): void {
		this.at(this.now + delay, run);
	}

	/** Runs every event up to `until`. */
	run(until: number): void {
		const heap = this.#heap;
		while (heap.length > 0 && (heap[0] as { at: number }).at <= until) {
			const top = heap[0] as { at: number; seq: number; run: () => void };
			const last = heap.pop() as typeof top;
			if (heap.length > 0) {
				let i = 0;
				for (;;) {
					const l = 2 * i + 1;
					const r = l + 1;
					let m = i;
					const pick = (j: number) =>
						j < heap.length && before(heap[j] as typeof top, m === i ? last : (heap[m] as typeof top));
					if (pick(l)) m = l;
					if (pick(r)) m = r;
					if (m === i) break;
					heap[i] = heap[m] as typeof top;
					i = m;
				}
				heap[i] = last;
			}
			this.now = top.at;
			top.run();
		}
		this.now = Math.max(this.now, until);
	}
}

const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) =>
	a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** One object's single thread: each call waits for the ones before it, then takes `serviceMs`. */
export class Server {
	#freeAt = 0;
	/** Time (ms) calls waited for the thread, for the capacity figures. */
	readonly waits: number[] = [];

	constructor(
		private readonly clock: Clock,
		private readonly serviceMs: number,
	) {}

	/** Runs `work` when the thread is free and the service time has passed; `downUntil` delays it further. */
	serve(work: () => void, downUntil = 0): void {
		const start = Math.max(this.clock.now, this.#freeAt, downUntil);
		this.waits.push(start - this.clock.now);
		this.#freeAt = start + this.serviceMs;
		this.clock.at(this.#freeAt, work);
	}
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) return 0;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[rank] as number;
}
