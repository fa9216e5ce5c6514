from mailreject.cli import main

main()
