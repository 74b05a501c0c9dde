/* example_test.h: the parts of the example service's test program kept in their own files
 * (example_test.c runs them by name). */
#ifndef EXAMPLE_TEST_H
#define EXAMPLE_TEST_H

/** The admission of slow work: budgets per client address, the queue bound, deadlines
 *  (example_test_slow.c). */
void example_test_slow(void);

#endif
