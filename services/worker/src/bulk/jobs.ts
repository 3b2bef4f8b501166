import type { JobHandler } from "../jobs/registry.js";
import { completeBulk } from "./complete-bulk.js";

/** The parent job of a bulk request: runs once every item (a child job) has finished, and reports them. */
export const completeBulkJob: JobHandler<"bulk"> = {
  callsComposio: false,
  async run(data, { job, log }, ctx) {
    const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
    return completeBulk({ prisma: ctx.prisma, bus: ctx.bus, logger: log }, data, { values, failures });
  },
};
