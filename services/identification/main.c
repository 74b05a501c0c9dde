/* main.c: tp-identification, the identification service daemon. */
#include "identification.h"

int main(int argc, char **argv)
{
    return svc_main(argc, argv, &identification_def);
}
