/**
 * A fault point for the harness's `faultPoint` option that throws once when the armed point is
 * reached: in-process, nothing after it runs, as after a SIGKILL at that point.
 */
export function crashPoint(): { hook: (name: string) => void; arm: (point: string) => void } {
  let armed: string | undefined;
  return {
    hook: (name: string) => {
      if (name !== armed) return;
      armed = undefined;
      throw new Error(`crashed at ${name}`);
    },
    arm: (point: string) => {
      armed = point;
    },
  };
}
