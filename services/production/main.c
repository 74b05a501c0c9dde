/* main.c: tp-production, the production service daemon. */
#include "production.h"

int main(int argc, char **argv)
{
    return svc_main(argc, argv, &production_def);
}
