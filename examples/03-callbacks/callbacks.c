/* Example 03: the work split by hand around each wait.
 *
 * The program wants to do: step 1, sleep, step 2, sleep, step 3. C cannot
 * wait for JavaScript, so it is cut at every sleep: `start` does step 1 and
 * asks the host for a timer (`env.sleep`) and returns; the host calls the
 * exported `sleep_callback` when the timer fires, which does the next step
 * and either asks for another timer or reports the result (`env.done`).
 * Everything a step needs from the one before must survive in globals: the
 * C stack is gone between the pieces. */

__attribute__((import_module("env"), import_name("sleep"))) void sleep(int ms);
__attribute__((import_module("env"), import_name("step"))) void step(int n,
                                                                     int value);
__attribute__((import_module("env"), import_name("done"))) void done(int value);

#define STEPS 3
#define PAUSE_MS 500

static int next_step; /* what survives between the pieces */
static int value;

static void work(void) {
  next_step++;
  value = value * 10 + next_step;
  step(next_step, value);
  if (next_step < STEPS)
    sleep(PAUSE_MS);
  else
    done(value);
}

__attribute__((export_name("start"))) void start(void) {
  next_step = 0;
  value = 0;
  work();
}

__attribute__((export_name("sleep_callback"))) void sleep_callback(void) {
  work();
}
