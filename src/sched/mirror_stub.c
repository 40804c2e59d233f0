typedef int dsb_mirror_stub;
