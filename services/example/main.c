/* main.c: tp-example, the example service daemon (a test fixture). */
#include "example.h"

int main(int argc, char **argv)
{
    return svc_main(argc, argv, &example_def);
}
